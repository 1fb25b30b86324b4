'use strict';
module.exports = { toKelvin: (v) => (v - 32) * 5 / 9 + 273.15 };
