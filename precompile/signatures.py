"""Transaction signatures: the secp256k1 public key a signature recovers to."""

from eth_keys import keys


def recover_public_key(transaction) -> bytes:
    """
    The 64-byte public key (x || y) that signed ``transaction``; raises for a
    signature that recovers to no key.
    """
    signature = keys.Signature(vrs=(transaction.y_parity, transaction.r, transaction.s))
    return signature.recover_public_key_from_msg(transaction.get_message_for_signing()).to_bytes()
