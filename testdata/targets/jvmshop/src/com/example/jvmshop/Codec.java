package com.example.jvmshop;

/**
 * A text codec. Implementations are plugins: classes of the package
 * com.example.jvmshop.codec in the plugin directory, loaded by name.
 */
public interface Codec {
    String encode(String text);

    String decode(String text);
}
