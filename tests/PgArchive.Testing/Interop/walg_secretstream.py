#!/usr/bin/python3
"""WAL-G's libsodium object framing, written out independently of PgArchive and driven through
Debian's python3-nacl, which calls libsodium's crypto_secretstream_xchacha20poly1305 itself.

The framing, as WAL-G's internal/crypto/libsodium writer and reader implement it:
  - the 24-byte secretstream header first;
  - the plaintext cut into 8192-byte chunks; a chunk is pushed (tag MESSAGE, no additional data) as soon
    as it is full, so each is stored as 8192 + 17 = 8209 bytes;
  - on close, whatever is left (0..8191 bytes, possibly nothing) is pushed with tag FINAL;
  - the reader pulls 8209-byte pieces until the end of the object; WAL-G's reader does not require FINAL.

usage: walg_secretstream.py encrypt|decrypt  < input > output
The key is read as hex from the environment variable WALG_TEST_LIBSODIUM_KEY_HEX (never the command line).
On decrypt, stderr reports "final" or "no-final" for the last chunk's tag.
"""
import os
import sys

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_ABYTES as ABYTES,
    crypto_secretstream_xchacha20poly1305_HEADERBYTES as HEADERBYTES,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
    crypto_secretstream_xchacha20poly1305_init_pull as init_pull,
    crypto_secretstream_xchacha20poly1305_init_push as init_push,
    crypto_secretstream_xchacha20poly1305_pull as pull,
    crypto_secretstream_xchacha20poly1305_push as push,
    crypto_secretstream_xchacha20poly1305_state as new_state,
)

CHUNK = 8192


def read_full(stream, size):
    data = b""
    while len(data) < size:
        piece = stream.read(size - len(data))
        if not piece:
            break
        data += piece
    return data


def encrypt(key, source, sink):
    state = new_state()
    sink.write(init_push(state, key))
    pending = b""
    while True:
        data = source.read(1 << 16)
        if not data:
            break
        pending += data
        while len(pending) >= CHUNK:
            sink.write(push(state, pending[:CHUNK], None, TAG_MESSAGE))
            pending = pending[CHUNK:]
    sink.write(push(state, pending, None, TAG_FINAL))


def decrypt(key, source, sink):
    header = read_full(source, HEADERBYTES)
    if len(header) != HEADERBYTES:
        sys.exit("short header")
    state = new_state()
    init_pull(state, header, key)
    last_tag = None
    while True:
        sealed = read_full(source, CHUNK + ABYTES)
        if not sealed:
            break
        message, last_tag = pull(state, sealed, None)
        sink.write(message)
        if last_tag == TAG_FINAL:
            if len(sealed) == CHUNK + ABYTES:
                sys.exit("premature end")  # as WAL-G's reader: FINAL only on a short chunk
            if source.read(1):
                sys.exit("data after FINAL")
            break
    sys.stderr.write("final" if last_tag == TAG_FINAL else "no-final")


def main():
    key = bytes.fromhex(os.environ["WALG_TEST_LIBSODIUM_KEY_HEX"])
    mode = sys.argv[1]
    if mode == "encrypt":
        encrypt(key, sys.stdin.buffer, sys.stdout.buffer)
    elif mode == "decrypt":
        decrypt(key, sys.stdin.buffer, sys.stdout.buffer)
    else:
        sys.exit("mode must be encrypt or decrypt")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
