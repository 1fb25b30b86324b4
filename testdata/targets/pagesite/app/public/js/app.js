'use strict';
// Fetched at run time: no tag of the page names these files. The first
// path is a literal (a static read of the script finds it); the second is
// built from parts, as bundlers often do (only a browser running the script
// finds it).
document.addEventListener('DOMContentLoaded', () => {
  fetch('/static/data/messages.json')
    .then((r) => r.json())
    .then((m) => { document.getElementById('message').textContent = m.welcome; });
  const parts = ['static', 'data', 'extra'];
  fetch('/' + parts.join('/') + '.json')
    .then((r) => r.json())
    .then((x) => { document.title += ' ' + x.suffix; });
});
