#!/usr/bin/env bash
# Copies the Swift that emitted files carry from the compiled, tested sources into the emitter as strings. Run it
# after changing one of those sources; the test theEmbeddedSupportIsTheCompiledSource fails until you do. With an
# argument, writes there instead (the test compares).
set -euo pipefail
cd "$(dirname "$0")/.."
layout=Sources/ConvcTensorIO/SafetensorsLayout.swift
support=Sources/ConvcEmittedSupport/EmittedSupport.swift
npy=Sources/ConvcTensorIO/NPY.swift
target=${1:-Sources/ConvcSwiftEmitter/embeddedSupport.swift}
{
    echo "// DO NOT EDIT. Written by tools/embed_support.sh from $layout, $support and $npy."
    echo
    echo "/// The safetensors rule convc applies, written into every emitted file (nested in its type): the file's"
    echo "/// opening comment left out, its \`package\` access dropped."
    echo 'let safetensorsLayoutSource = #"""'
    awk 'body || !/^\/\/( |$)/ { body = 1; print }' "$layout" | sed '1{/^$/d}' | sed -E 's/^( *)package /\1/'
    echo '"""#'
    echo
    echo "/// The helpers emitted code calls, from \`extension EmittedSupport\` on; the emitter renames the type and keeps"
    echo "/// the declarations a model uses."
    echo 'let emittedSupportSource = #"""'
    awk '/^extension EmittedSupport \{/ { body = 1 } body { print }' "$support"
    echo '"""#'
    echo
    echo "/// convc's .npy reader and writer, for the programs \`convc verify\` compiles: the file's opening comment left"
    echo "/// out."
    echo 'public let npySource = #"""'
    awk 'body || !/^\/\/( |$)/ { body = 1; print }' "$npy" | sed '1{/^$/d}'
    echo '"""#'
} > "$target.tmp"
mv "$target.tmp" "$target"
