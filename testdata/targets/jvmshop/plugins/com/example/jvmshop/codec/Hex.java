package com.example.jvmshop.codec;

import java.nio.charset.StandardCharsets;

import com.example.jvmshop.Codec;

/** Lower-case hexadecimal of the UTF-8 bytes. */
public final class Hex implements Codec {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    @Override
    public String encode(String text) {
        StringBuilder sb = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            sb.append(DIGITS[(b >> 4) & 15]).append(DIGITS[b & 15]);
        }
        return sb.toString();
    }

    @Override
    public String decode(String text) {
        if (text.length() % 2 != 0) {
            throw new IllegalArgumentException("odd length");
        }
        byte[] out = new byte[text.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
