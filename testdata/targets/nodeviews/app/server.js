'use strict';
// The primary forks WORKERS workers, which share the listening port, and
// forks a new one whenever one exits.
const cluster = require('cluster');

const workers = Math.max(1, parseInt(process.env.WORKERS || '2', 10));

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', () => cluster.fork());
} else {
  require('./app').listen(8080);
}
