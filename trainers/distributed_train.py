"""``ytrec train`` as a module torchrun can start: each process it launches trains on its part
of every batch, rank 0 exports (``trainers/distributed.py``, docs/distributed.md).

    torchrun --nproc-per-node 2 -m trainers.distributed_train --data log.csv --out artifacts/mine
"""

from trainers.cli import train

if __name__ == "__main__":
    train()
