'use strict';
module.exports = {
  toKelvin: (v) => {
    if (v < 0) {
      return 0;
    }
    return v * 5 / 9;
  },
};
