'use strict';
// Fetched at run time: no tag of the page names this file.
document.addEventListener('DOMContentLoaded', () => {
  fetch('/static/data/messages.json')
    .then((r) => r.json())
    .then((m) => { document.getElementById('message').textContent = m.welcome; });
});
