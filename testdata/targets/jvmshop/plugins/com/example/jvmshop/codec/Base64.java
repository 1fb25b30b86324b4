package com.example.jvmshop.codec;

import java.nio.charset.StandardCharsets;

import com.example.jvmshop.Codec;

/** Standard Base64 of the UTF-8 bytes. */
public final class Base64 implements Codec {
    @Override
    public String encode(String text) {
        return java.util.Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String decode(String text) {
        return new String(java.util.Base64.getDecoder().decode(text), StandardCharsets.UTF_8);
    }
}
