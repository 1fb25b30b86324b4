package com.example.jvmshop.orders;

/** An order that cannot be placed. */
public final class InvalidOrder extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InvalidOrder(String message) {
        super(message);
    }
}
