#!/usr/bin/env bash
# Writes seed inputs for every target into fuzz/corpus/<target>/ (gitignored), from the
# RFC 6455 / RFC 7692 worked examples and the unit-test vectors of ws-proto. Idempotent:
# seeds are named by content, so running it on an existing corpus adds nothing twice.
# Structured targets (frame_unpack_roundtrip, connection_ops) take `arbitrary` input and
# grow their corpus from libFuzzer's empty input; they get no hand-written seeds.
set -euo pipefail
cd "$(dirname "$0")"

# seed TARGET PRINTF-FORMAT...: one seed file from printf-escaped pieces.
seed() {
    local target=$1
    shift
    local dir="corpus/$target"
    mkdir -p "$dir"
    local tmp name
    tmp=$(mktemp)
    printf "$@" >"$tmp"
    name=$(sha1sum "$tmp" | cut -c1-16)
    mv "$tmp" "$dir/seed-$name"
}

# ---- RFC 6455 §5.7 frames ----
HELLO_UNMASKED='\x81\x05Hello'
HELLO_MASKED='\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58'
FRAG1='\x01\x03Hel'
FRAG2='\x80\x02lo'
PING='\x89\x05Hello'
PONG_MASKED='\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58'
BIN256_HEAD='\x82\x7e\x01\x00'
BIN64K_HEAD='\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00'
for frame in "$HELLO_UNMASKED" "$HELLO_MASKED" "$FRAG1" "$FRAG2" "$PING" "$PONG_MASKED" "$BIN256_HEAD" \
    "$BIN64K_HEAD" '\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff' '\x88\x02\x03\xe8' '\x88\x80\x01\x02\x03\x04' \
    '\x83\x00' '\x09\x00' '\x89\x7e\x00\x7e' '\x82\x7e\x00\x05' '\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00' \
    '\xc1\x87\x01\x02\x03\x04\xf3\x4a\xce\xca\xc8\x05\x03'; do
    seed frame_header "$frame"
done

# ---- HTTP heads ----
UPGRADE='GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n'
UPGRADE_DEFLATE='GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate\r\n\r\n'
PLAIN_GET='GET /chat?room=a%%20b&x=1 HTTP/1.1\r\nHost: example.com\r\nX-Tag: 1\r\nx-tag: 2\r\n\r\n'
POST='POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nx=1'
VERSION8='GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n'
SMUGGLE='POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n'
for limits in '\xff\x3f' '\x40\x21' '\x10\x0f'; do
    for head in "$UPGRADE" "$UPGRADE_DEFLATE" "$PLAIN_GET" "$POST" "$VERSION8" "$SMUGGLE" \
        'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' 'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'; do
        seed handshake_request "$limits$head"
    done
done

ACCEPT='HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n'
for flags in '\xff\x00' '\xff\x07' '\x80\x09' '\xff\xf8' '\xff\x48'; do
    seed handshake_response "$flags$ACCEPT\r\n"
    seed handshake_response "$flags${ACCEPT}Sec-WebSocket-Protocol: chat\r\n\r\n"
    seed handshake_response "$flags${ACCEPT}Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits=9\r\n\r\n"
    seed handshake_response "$flags${ACCEPT}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"
    seed handshake_response "${flags}HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
done

# ---- permessage-deflate negotiation (RFC 7692 §5, §7.1 examples and the unit tests) ----
for cfg in '\x77\x77\x00' '\x22\x77\x05' '\x77\x27\x1a' '\x88\xcc\x0f'; do
    seed extensions_header "${cfg}permessage-deflate; client_max_window_bits\0permessage-deflate"
    seed extensions_header "${cfg}permessage-deflate; server_max_window_bits=10; client_max_window_bits\npermessage-deflate\0permessage-deflate; server_max_window_bits=10"
    seed extensions_header "${cfg}x-foo, permessage-deflate; client_max_window_bits=\"9\"; server_no_context_takeover\0permessage-deflate; client_max_window_bits=10; server_no_context_takeover"
    seed extensions_header "${cfg}permessage-deflate; server_max_window_bits=\"1\\\\0\"\0permessage-deflate, permessage-deflate"
    seed extensions_header "${cfg}permessage-deflate; client_no_context_takeover; server_max_window_bits=8\0x-foo\npermessage-deflate; client_max_window_bits"
done

# ---- inflate: RFC 7692 §7.2.3 payloads ----
HELLO_DEFLATED='\xf2\x48\xcd\xc9\xc9\x07\x00'
SHARED='\xf2\x00\x11\x00\x00'
STORED='\x00\x05\x00\xfa\xffHello'
BFINAL='\xf3\x48\xcd\xc9\xc9\x07\x00\x00'
TWO_BLOCKS='\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00'
EMPTY='\x00'
for mode in '\x3f\xfc\x00\x40' '\xff\x00\x00\x05' '\x00\x01\x10\x00' '\xc9\x0d\x00\x00'; do
    seed inflate "$mode$HELLO_DEFLATED"
    seed inflate "$mode${HELLO_DEFLATED}WSMB$SHARED"
    seed inflate "$mode${STORED}WSMB${BFINAL}WSMB$TWO_BLOCKS"
    seed inflate "$mode${EMPTY}WSMB\xff\xff\xff"
    # A bomb: 64 KiB of zeros deflated at level 9 (79 bytes), sync tail removed.
    seed inflate "$mode\xec\xc1\x01\x01\x00\x00\x00\x80\x90\xfe\xaf\xee\x08\x0a$(printf '\\x00%.0s' $(seq 65))\x6a\x00"
done
for mode in '\x3f\x02\x06\x03' '\xff\x83\x09\x00' '\x00\x07\x01\x40'; do
    seed inflate "${mode}Hello, Hello, HelloWSMB{\"id\":42}WSMBWSMBpermessage-deflate"
done

# ---- server_bytes: the flags/chunk bytes, then frames from a client ----
MASKED_TEXT='\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58'
MASKED_CLOSE='\x88\x82\x01\x02\x03\x04\x02\xea'
MASKED_PING='\x89\x84\x01\x02\x03\x04\x71\x6b\x6d\x63'
MASKED_FRAG='\x01\x81\x01\x02\x03\x04\x60\x80\x81\x01\x02\x03\x04\x63'
COMPRESSED_HELLO='\xc1\x87\x00\x00\x00\x00\xf2\x48\xcd\xc9\xc9\x07\x00'
for flags in '\x06\x00' '\x07\x00' '\x0f\x03' '\x47\x3f' '\x17\x10'; do
    seed server_bytes "$flags$MASKED_TEXT$MASKED_PING$MASKED_FRAG$MASKED_CLOSE"
    seed server_bytes "$flags$COMPRESSED_HELLO$MASKED_TEXT"
    seed server_bytes "$flags\x82\xfe\x01\x00\x01\x02\x03\x04"
done
# Through receive_buf (chunking bit 6; chunks of 16 KiB here): whole messages from 8 KiB
# are split off the buffer. A 9,000-byte binary and text (zero mask key, so the payload is
# as written), a small text between, then the same split across two chunks.
BIG_HEAD_BIN='\x82\xfe\x23\x28\x00\x00\x00\x00'
BIG_HEAD_TEXT='\x81\xfe\x23\x28\x00\x00\x00\x00'
BIG=$(head -c 9000 /dev/zero | tr '\0' 'a')
for flags in '\x06\x7f' '\x06\x5f'; do
    seed server_bytes "$flags$BIG_HEAD_BIN%s$MASKED_TEXT$BIG_HEAD_TEXT%s$MASKED_CLOSE" "$BIG" "$BIG"
done
# Client mode (flags bit 7): unmasked server frames, RFC 6455 §5.7.
COMPRESSED_HELLO_UNMASKED='\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00'
for flags in '\x86\x00' '\x87\x02' '\xcf\x3f' '\x97\x10'; do
    seed server_bytes "$flags$HELLO_UNMASKED$FRAG1$PING$FRAG2\x88\x02\x03\xe8"
    seed server_bytes "$flags$COMPRESSED_HELLO_UNMASKED$BIN256_HEAD"
    seed server_bytes "$flags$HELLO_MASKED"
done
for flags in '\x26\x00' '\x27\x05'; do
    seed server_bytes "$flags${PLAIN_GET}${POST}$UPGRADE$MASKED_TEXT"
    seed server_bytes "$flags$VERSION8"
done

# Committed hand-picked seeds (regressions and interesting cases), if any.
for dir in seeds/*/ regressions/*/; do
    [ -d "$dir" ] || continue
    target=$(basename "$dir")
    mkdir -p "corpus/$target"
    cp -n "$dir"* "corpus/$target/" 2>/dev/null || true
done

for dir in corpus/*/; do
    echo "$(basename "$dir"): $(find "$dir" -type f | wc -l) files"
done
