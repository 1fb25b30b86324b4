package com.example.jvmshop.codec;

import com.example.jvmshop.Codec;

/** The text backwards. */
public final class Reverse implements Codec {
    @Override
    public String encode(String text) {
        return new StringBuilder(text).reverse().toString();
    }

    @Override
    public String decode(String text) {
        return encode(text);
    }
}
