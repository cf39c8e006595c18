"""A run driven from Python with grpcio stubs generated from the proto files alone: the way
most researchers' tooling talks to a gRPC service.

Usage: test_trainer_service.py TRAINER_BINARY STUBS_DIR DATA_DIR
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

import grpc

trainer_bin, stubs, data_dir = sys.argv[1:4]
sys.path.insert(0, stubs)
from qahm.trainer.v1 import config_pb2, trainer_pb2, trainer_pb2_grpc  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    runs = tempfile.mkdtemp(prefix="qahm-py-")
    server = subprocess.Popen(
        [trainer_bin, "serve", "--listen", f"127.0.0.1:{port}", "--runs-dir", runs],
        stderr=subprocess.DEVNULL,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        trainer = trainer_pb2_grpc.TrainerStub(channel)
        config = config_pb2.RunConfig(
            data=config_pb2.DataConfig(dir=data_dir, train_size=500, test_size=100),
            schedule=config_pb2.ScheduleConfig(iterations=30, lr_start=0.05),
            prior=config_pb2.PriorConfig(kind="factorized"),
            run=config_pb2.RunSettings(seed=3, checkpoint_every=10),
            evaluation=config_pb2.EvaluationConfig(every=10),
        )
        run = trainer.StartRun(trainer_pb2.StartRunRequest(run_id="from-python", config=config))
        assert run.config.schedule.iterations == 30, run.config
        assert run.config.model.hidden2 == 60, "unset settings come from the preset"

        states, updates, checkpoints = [], [], []
        for event in trainer.WatchRun(trainer_pb2.WatchRunRequest(run_id="from-python")):
            kind = event.WhichOneof("event")
            if kind == "state":
                states.append(event.state.state)
            elif kind == "progress":
                updates.append(event.progress.update)
            elif kind == "checkpoint":
                checkpoints.append(event.checkpoint.update)
        assert states[-1] == trainer_pb2.RUN_STATE_SUCCEEDED, states
        assert updates[-1] == 30 and updates == sorted(updates), updates
        assert checkpoints == [10, 20, 30], checkpoints

        done = trainer.GetRun(trainer_pb2.GetRunRequest(run_id="from-python"))
        assert done.state == trainer_pb2.RUN_STATE_SUCCEEDED
        assert 0.0 <= done.progress.test_accuracy <= 1.0

        digits = trainer.Generate(trainer_pb2.GenerateRequest(run_id="from-python", n=4, seed=1))
        assert len(digits.pixels) == 4 * digits.side * digits.side and len(digits.labels) == 4

        try:
            bad = config_pb2.RunConfig(schedule=config_pb2.ScheduleConfig(lr_start=-1.0))
            trainer.StartRun(trainer_pb2.StartRunRequest(run_id="bad", config=bad))
            raise AssertionError("a negative learning rate was accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
            assert e.details().startswith("config.schedule.lr_start:"), e.details()
        print("python client: run from-python succeeded, accuracy %.4f, events ok" % done.progress.test_accuracy)
        channel.close()
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
