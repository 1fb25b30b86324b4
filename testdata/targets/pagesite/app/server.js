'use strict';
const express = require('express');
const fs = require('fs');
const path = require('path');

const app = express();
app.set('view engine', 'ejs');
app.set('views', path.join(__dirname, 'views'));

const spec = fs.readFileSync(path.join(__dirname, 'api-spec.json'));
const manifest = fs.readFileSync(path.join(__dirname, 'site.webmanifest'));

app.get('/health', (req, res) => res.json({ status: 'ok' }));
app.get('/openapi.json', (req, res) => res.type('application/json').send(spec));

app.get('/', (req, res) => res.render('home', { title: 'Page site' }));

app.get('/api/greeting', (req, res) => {
  const name = String(req.query.name || 'world').slice(0, 64);
  res.json({ greeting: 'Hello, ' + name });
});

app.get('/site.webmanifest', (req, res) => res.type('application/manifest+json').send(manifest));
app.get('/favicon.ico', (req, res) => res.sendFile(path.join(__dirname, 'public', 'icons', 'favicon.ico')));
app.use('/static', express.static(path.join(__dirname, 'public'), { index: false }));

app.use((req, res) => res.status(404).json({ error: 'not found' }));

app.listen(8080);
