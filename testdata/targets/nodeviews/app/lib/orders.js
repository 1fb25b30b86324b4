'use strict';
// Orders kept in the worker's memory, with the branches a fuzzer has to find.
const orders = new Map();
let nextId = 1;

const prices = { apple: 3, pear: 4, plum: 2, melon: 9 };

function discount(code, total) {
  switch (code) {
    case 'SAVE10':
      return Math.round(total * 0.1);
    case 'HALF':
      return total >= 20 ? Math.round(total / 2) : 0;
    default:
      return 0;
  }
}

function create(body) {
  const item = body.item;
  const qty = body.qty;
  if (typeof item !== 'string' || !(item in prices)) {
    return { error: 'unknown item' };
  }
  if (!Number.isInteger(qty) || qty < 1 || qty > 100) {
    return { error: 'qty must be 1 to 100' };
  }
  let total = prices[item] * qty;
  let saved = 0;
  if (typeof body.coupon === 'string') {
    saved = discount(body.coupon, total);
    total -= saved;
  }
  const order = { id: nextId++, item, qty, total, saved };
  if (orders.size >= 1000) {
    orders.delete(orders.keys().next().value);
  }
  orders.set(order.id, order);
  return order;
}

function get(id) {
  return orders.get(id);
}

function list() {
  return Array.from(orders.values()).slice(-50);
}

// Reached by no request: coverage reports must show it as never hit.
function neverCalled() {
  return 'planted unreachable function';
}

module.exports = { create, get, list, neverCalled };
