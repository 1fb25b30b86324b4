#!/bin/sh
# build.sh OUT: builds whittle's JVM coverage agent from agent.c (go generate runs it; see
# ../gen.go). Needs clang-14 and the JNI/JVMTI headers of a JDK (JAVA_HOME, else the JDK of
# javac). The result is freestanding (no libc, no NEEDED entry) and byte-identical from run to
# run with the same clang and binutils.
set -eu
case $1 in /*) out=$1 ;; *) out=$PWD/$1 ;; esac
cd "$(dirname "$0")"
jdk=${JAVA_HOME:-}
if [ -z "$jdk" ]; then
	javac=$(command -v javac) || { echo "build.sh: no javac: install openjdk-17-jdk-headless or set JAVA_HOME" >&2; exit 1; }
	jdk=$(dirname "$(dirname "$(readlink -f "$javac")")")
fi
clang-14 -std=c11 -O2 -Wall -Wextra -Werror \
	-fPIC -shared -nostdlib -ffreestanding -fno-builtin -fno-stack-protector \
	-fvisibility=hidden -fno-asynchronous-unwind-tables -fno-ident \
	-I"$jdk/include" -I"$jdk/include/linux" \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now -Wl,--hash-style=gnu -Wl,-Bsymbolic \
	-o "$out.tmp" agent.c
llvm-strip-14 --strip-all "$out.tmp"
mv "$out.tmp" "$out"
