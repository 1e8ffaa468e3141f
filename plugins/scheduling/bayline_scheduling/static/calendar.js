// Drag an appointment card onto another day: it keeps its time of day and is moved there. A move the
// server refuses (taken, closed, outside hours) leaves the card where it was and shows the server's
// message above the calendar; a move it accepts reloads the page.
(function () {
  var csrf = document.querySelector('input[name="csrf_token"]');
  var calendar = document.getElementById('sched-calendar');

  function showError(text) {
    var box = document.getElementById('sched-error');
    if (!box) {
      box = document.createElement('p');
      box.id = 'sched-error';
      box.className = 'form-error sched-error';
      box.setAttribute('role', 'alert');
      calendar.parentNode.insertBefore(box, calendar);
    }
    box.textContent = text;
  }

  document.querySelectorAll('.sched-appt[draggable="true"]').forEach(function (card) {
    card.addEventListener('dragstart', function (e) { e.dataTransfer.setData('text/plain', card.id); });
  });
  document.querySelectorAll('.sched-day[data-day]').forEach(function (day) {
    day.addEventListener('dragover', function (e) { e.preventDefault(); });
    day.addEventListener('drop', function (e) {
      e.preventDefault();
      var card = document.getElementById(e.dataTransfer.getData('text/plain'));
      if (!card || !csrf || card.closest('.sched-day') === day) { return; }
      var start = day.dataset.day + 'T' + card.dataset.start.split('T')[1];
      var body = new URLSearchParams({ csrf_token: csrf.value, start: start });
      fetch(card.dataset.moveUrl, { method: 'POST', body: body, headers: { Accept: 'application/json' },
        credentials: 'same-origin' }).then(function (response) {
        if (response.ok) { window.location.reload(); return null; }
        return response.json().then(function (data) {
          showError('Not moved: ' + ((data && data.message) || 'the server refused the move.'));
        }, function () { showError('Not moved: the server refused the move (' + response.status + ').'); });
      }, function () { showError('Not moved: the server could not be reached. Try again.'); });
    });
  });
})();
