// Signature pad for the e-signature page (served from 'self' to satisfy the portal's CSP).
(function () {
  const c = document.getElementById('pad');
  const form = document.getElementById('sign');
  if (!c || !form) return;
  const x = c.getContext('2d');
  let down = false, ink = false;
  x.lineWidth = 3; x.lineCap = 'round';
  function p(e) {
    const r = c.getBoundingClientRect();
    return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height];
  }
  c.addEventListener('pointerdown', e => { down = true; x.beginPath(); x.moveTo(...p(e)); });
  c.addEventListener('pointermove', e => { if (down) { x.lineTo(...p(e)); x.stroke(); ink = true; } });
  addEventListener('pointerup', () => { down = false; });
  const tz = document.getElementById('tz');
  if (tz) tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone;
  form.addEventListener('submit', () => {
    if (ink) document.getElementById('sigdata').value = c.toDataURL('image/png');
  });
})();
