package com.example.jvmshop.http;

/** An error answered with its status. */
public final class HttpError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    public final int status;

    public HttpError(int status, String message) {
        super(message);
        this.status = status;
    }
}
