'use strict';
module.exports = { toKelvin: (v) => v + 273.15 };
