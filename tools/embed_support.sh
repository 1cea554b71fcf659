#!/usr/bin/env bash
# Copies the Swift that every emitted file carries from the compiled, tested sources into the emitter as strings.
# Run it after changing one of those sources; the test embeddedSupportIsFresh fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
source=Sources/ConvcTensorIO/SafetensorsLayout.swift
target=Sources/ConvcSwiftEmitter/embeddedSupport.swift
{
    echo "// DO NOT EDIT. Written by tools/embed_support.sh from $source."
    echo
    echo "/// The safetensors rule convc applies, written into every emitted file (nested in its type): the file's"
    echo "/// opening comment left out."
    echo 'let safetensorsLayoutSource = #"""'
    awk 'body || !/^\/\/( |$)/ { body = 1; print }' "$source" | sed '1{/^$/d}'
    echo '"""#'
} > "$target.tmp"
mv "$target.tmp" "$target"
