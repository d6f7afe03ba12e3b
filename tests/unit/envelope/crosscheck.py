#!/usr/bin/env python3
"""Cross-check envelope against an independent implementation (PyNaCl).

Fresh random key pairs, headers and bodies every run: Python seals requests
that C opens, C seals responses (envelope_seal and the pad path) that Python
opens, and the associated data and session keys must match a Python
re-implementation of docs/partner-protocol.md. The C side is `unit_envelope
crosscheck` (tests/unit/envelope/crosscheck.c), found at
$LINDUNG_BIN_DIR/../tests/unit_envelope.
"""
import os
import secrets
import struct
import subprocess
import sys

try:
    import nacl.bindings as nb
except ImportError:
    # Debian's python3-nacl lives in the system interpreter; a PATH python3
    # (pyenv, venv) may not see it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

ROUNDS = 250
PAD_MAX_BODY = 448
MAX_CIPHERTEXT = 1024
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"


def hx(b):
    return b.hex() if b else "-"


def unhx(s):
    return b"" if s == "-" else bytes.fromhex(s)


def associated_data(direction, partner_id, partner_key_id, system_key_id, request_id, at_ms):
    pid = partner_id.encode("ascii")
    return (
        b"LDG1"
        + bytes([1 if direction == "request" else 2])
        + struct.pack(">H", len(pid))
        + pid
        + struct.pack(">II", partner_key_id, system_key_id)
        + request_id
        + struct.pack(">Q", at_ms)
    )


def random_partner_id(rng_len=None):
    n = rng_len if rng_len is not None else 2 + secrets.randbelow(31)
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def aead_seal(key, ad, plain):
    nonce = secrets.token_bytes(24)
    return nonce, nb.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, key)


def aead_open(key, ad, nonce, sealed):
    return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, ad, nonce, key)


def main():
    bin_dir = os.environ.get("LINDUNG_BIN_DIR")
    if not bin_dir:
        print("LINDUNG_BIN_DIR is not set (run through ctest)", file=sys.stderr)
        return 1
    helper = os.path.join(bin_dir, "..", "tests", "unit_envelope")
    if not os.access(helper, os.X_OK):
        print(f"missing C helper {helper}", file=sys.stderr)
        return 1

    commands = []  # (command line, check(answer) -> error text or None)

    def expect(line, check):
        commands.append((line, check))

    failures = []
    for i in range(ROUNDS):
        partner_pk, partner_sk = nb.crypto_kx_keypair()
        system_pk, system_sk = nb.crypto_kx_keypair()
        # Python: partner side, client session keys. PyNaCl returns (rx, tx).
        p_rx, p_tx = nb.crypto_kx_client_session_keys(partner_pk, partner_sk, system_pk)
        s_rx, s_tx = nb.crypto_kx_server_session_keys(system_pk, system_sk, partner_pk)

        def same_keys(want):
            return lambda a: None if a == ["ok", want[0].hex(), want[1].hex()] else f"session {a}"

        expect(f"session {system_pk.hex()} {system_sk.hex()} {partner_pk.hex()}", same_keys((s_rx, s_tx)))
        expect(f"psession {partner_pk.hex()} {partner_sk.hex()} {system_pk.hex()}", same_keys((p_rx, p_tx)))

        # Edge lengths of partner ids come up on the first rounds.
        pid = random_partner_id({0: 1, 1: 32, 2: 2}.get(i))
        pkid = 1 + secrets.randbelow(2**32 - 1)
        skid = 1 + secrets.randbelow(2**32 - 1)
        rid = secrets.token_bytes(16)
        at = secrets.randbelow(2**64)
        req_ad = associated_data("request", pid, pkid, skid, rid, at)
        resp_ad = associated_data("response", pid, pkid, skid, rid, at)
        for direction, want in (("request", req_ad), ("response", resp_ad)):
            expect(
                f"ad {direction} {pid} {pkid} {skid} {rid.hex()} {at}",
                lambda a, w=want: None if a == ["ok", w.hex()] else f"ad {a} != {w.hex()}",
            )

        # Python seals a request with the partner's tx; C opens with its rx key.
        body = secrets.token_bytes(secrets.randbelow(MAX_CIPHERTEXT - 16 + 1))
        nonce, sealed = aead_seal(p_tx, req_ad, body)
        expect(
            f"open {s_rx.hex()} {hx(req_ad)} {nonce.hex()} {hx(sealed)}",
            lambda a, b=body: None if a == ["ok", hx(b)] else "C did not open a PyNaCl seal",
        )
        # A flipped bit anywhere must not open (a few per round, not every one).
        bad = bytearray(sealed)
        bad[secrets.randbelow(len(bad))] ^= 1 << secrets.randbelow(8)
        expect(
            f"open {s_rx.hex()} {hx(req_ad)} {nonce.hex()} {hx(bytes(bad))}",
            lambda a: None if a == ["fail"] else "C opened a tampered seal",
        )
        bad_ad = bytearray(req_ad)
        bad_ad[secrets.randbelow(len(bad_ad))] ^= 1 << secrets.randbelow(8)
        expect(
            f"open {s_rx.hex()} {hx(bytes(bad_ad))} {nonce.hex()} {hx(sealed)}",
            lambda a: None if a == ["fail"] else "C opened under tampered AD",
        )

        # C seals responses with Lindung's tx; Python opens with the partner's rx.
        for mode, limit in (("seal", MAX_CIPHERTEXT - 16), ("pad-seal", PAD_MAX_BODY)):
            plain = secrets.token_bytes(secrets.randbelow(limit + 1))

            # Default arguments bind this round's values (checks run later).
            def python_opens(a, p=plain, m=mode, ad=resp_ad, rx=p_rx, tx=s_tx):
                if len(a) != 3 or a[0] != "ok":
                    return f"C {m} failed: {a}"
                n, s = unhx(a[1]), unhx(a[2])
                if len(n) != 24 or len(s) != len(p) + 16:
                    return f"C {m}: wrong sizes"
                try:
                    got = aead_open(rx, ad, n, s)
                except Exception:  # nacl.exceptions.CryptoError
                    return f"PyNaCl did not open a C {m}"
                if got != p:
                    return f"C {m}: opened to other bytes"
                # Same nonce in PyNaCl must give the same bytes.
                if nb.crypto_aead_xchacha20poly1305_ietf_encrypt(p, ad, n, tx) != s:
                    return f"C {m}: differs from PyNaCl's seal"
                return None

            expect(f"{mode} {s_tx.hex()} {hx(resp_ad)} {hx(plain)}", python_opens)

    # Refusals: partner ids of 0 and 33 bytes, and a pad body over the limit.
    rid = secrets.token_bytes(16)
    for pid in ("=", random_partner_id(33)):
        expect(f"ad request {pid} 7 1 {rid.hex()} 5", lambda a: None if a == ["refused"] else f"ad {a}")
    key = secrets.token_bytes(32)
    expect(
        f"pad-seal {key.hex()} - {secrets.token_bytes(PAD_MAX_BODY + 1).hex()}",
        lambda a: None if a == ["fail"] else "pad-seal took 449 bytes",
    )

    stdin = "".join(line + "\n" for line, _ in commands)
    proc = subprocess.run([helper, "crosscheck"], input=stdin, capture_output=True, text=True)
    answers = proc.stdout.splitlines()
    if proc.returncode != 0 or len(answers) != len(commands):
        print(f"helper exited {proc.returncode} with {len(answers)}/{len(commands)} answers", file=sys.stderr)
        print(proc.stderr, file=sys.stderr)
        return 1
    for (line, check), answer in zip(commands, answers):
        error = check(answer.split())
        if error:
            failures.append(f"{line.split()[0]}: {error}")

    for f in failures[:20]:
        print("FAIL", f, file=sys.stderr)
    print(f"{len(commands)} cross-checks ({ROUNDS} rounds each way), {len(failures)} failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
