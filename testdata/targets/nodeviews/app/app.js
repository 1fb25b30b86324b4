'use strict';
const express = require('express');
const fs = require('fs');
const path = require('path');
const orders = require('./lib/orders');

const app = express();
app.set('view engine', 'ejs');
app.set('views', path.join(__dirname, 'views'));
app.use(express.json({ limit: '64kb' }));

const spec = fs.readFileSync(path.join(__dirname, 'api-spec.json'));

app.get('/health', (req, res) => res.json({ status: 'ok' }));
app.get('/openapi.json', (req, res) => res.type('application/json').send(spec));

// A view chosen by a query value: Express resolves views/NAME.ejs.
app.get('/pages', (req, res) => {
  const view = String(req.query.view || 'summary');
  if (!/^[a-z_]+$/.test(view)) {
    return res.status(400).json({ error: 'bad view name' });
  }
  const file = path.join(__dirname, 'views', view + '.ejs');
  if (!fs.existsSync(file)) {
    return res.status(404).json({ error: 'no such view' });
  }
  res.render(view, { title: view, items: orders.list() });
});

// A converter module required by a path value.
app.get('/convert/:unit', (req, res) => {
  const unit = req.params.unit;
  if (!/^[a-z]+$/.test(unit)) {
    return res.status(400).json({ error: 'bad unit' });
  }
  let conv;
  try {
    conv = require('./converters/' + unit);
  } catch (e) {
    return res.status(404).json({ error: 'no such unit' });
  }
  const value = Number(req.query.value);
  if (!Number.isFinite(value)) {
    return res.status(400).json({ error: 'value must be a number' });
  }
  res.json({ unit, value, kelvin: conv.toKelvin(value) });
});

app.get('/prices', (req, res) => res.json(orders.list()));

app.post('/orders', (req, res) => {
  const result = orders.create(req.body || {});
  if (result.error) {
    return res.status(400).json(result);
  }
  res.status(201).json(result);
});

app.use((err, req, res, next) => {
  if (err && err.type === 'entity.parse.failed') {
    return res.status(400).json({ error: 'invalid JSON' });
  }
  res.status(500).json({ error: 'internal error' });
});

module.exports = app;
