package com.example.jvmshop.orders;

import java.util.Locale;

/** Discount codes. */
public enum Coupon {
    SAVE10 {
        @Override
        long apply(long cents, int quantity) {
            return cents - cents / 10;
        }
    },
    HALF {
        @Override
        long apply(long cents, int quantity) {
            return quantity >= 2 ? cents / 2 : cents;
        }
    },
    BULK {
        @Override
        long apply(long cents, int quantity) {
            return quantity >= 10 ? cents - cents * 15 / 100 : cents;
        }
    };

    abstract long apply(long cents, int quantity);

    static Coupon parse(String code) {
        if (code == null || code.isBlank()) {
            return null;
        }
        try {
            return valueOf(code.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidOrder("unknown coupon " + code);
        }
    }
}
