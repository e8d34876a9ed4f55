"""L1 node: a py-evm chain with the EXECUTE fork, block production and the JSON-RPC server."""
