// Drag an appointment card onto another day: it keeps its time of day and is moved there (the
// server refuses a taken or closed slot; the page then reloads with the message).
(function () {
  var csrf = document.querySelector('input[name="csrf_token"]');
  document.querySelectorAll('.sched-appt[draggable="true"]').forEach(function (card) {
    card.addEventListener('dragstart', function (e) { e.dataTransfer.setData('text/plain', card.id); });
  });
  document.querySelectorAll('.sched-day[data-day]').forEach(function (day) {
    day.addEventListener('dragover', function (e) { e.preventDefault(); });
    day.addEventListener('drop', function (e) {
      e.preventDefault();
      var card = document.getElementById(e.dataTransfer.getData('text/plain'));
      if (!card || !csrf) { return; }
      var start = day.dataset.day + 'T' + card.dataset.start.split('T')[1];
      var body = new URLSearchParams({ csrf_token: csrf.value, start: start });
      fetch(card.dataset.moveUrl, { method: 'POST', body: body, headers: { Accept: 'application/json' },
        credentials: 'same-origin' }).then(function () { window.location.reload(); });
    });
  });
})();
