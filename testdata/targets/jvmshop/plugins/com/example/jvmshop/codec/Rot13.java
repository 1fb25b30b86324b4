package com.example.jvmshop.codec;

import com.example.jvmshop.Codec;

/** ROT13 over ASCII letters. */
public final class Rot13 implements Codec {
    @Override
    public String encode(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            sb.append(rotate(c));
        }
        return sb.toString();
    }

    @Override
    public String decode(String text) {
        return encode(text);
    }

    private static char rotate(char c) {
        if (c >= 'a' && c <= 'z') {
            return (char) ('a' + (c - 'a' + 13) % 26);
        }
        if (c >= 'A' && c <= 'Z') {
            return (char) ('A' + (c - 'A' + 13) % 26);
        }
        return c;
    }
}
