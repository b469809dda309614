"""The recorder's cut-back on resume: rows after the checkpoint go, a redone switch's rows go with them."""

from __future__ import annotations

from pathlib import Path

from rlplastic.run.recorder import cut_back


def test_cut_back_drops_the_next_phase_s_switch_rows(tmp_path: Path) -> None:
    path = tmp_path / "diagnostics.csv"
    rows = [
        "phase,task,step,when,network,layer,quantity,value",
        "0,A,100,cadence,q,all,srank,1",
        "1,B,200,before,q,all,srank,2",
        "0,A,200,cadence,q,all,srank,3",
        "1,B,200,after,q,all,srank,4",
        "1,B,300,cadence,q,all,srank,5",
    ]
    path.write_text("\n".join(rows) + "\n")
    cut_back(path, 200, next_phase=1)  # a checkpoint at the end of phase 0: phase 1's switch will be redone
    assert [r.split(",")[-1] for r in path.read_text().splitlines()[1:]] == ["1", "3"]
    path.write_text("\n".join(rows) + "\n")
    cut_back(path, 200)  # a checkpoint inside phase 1 after its switch: the switch rows stay
    assert [r.split(",")[-1] for r in path.read_text().splitlines()[1:]] == ["1", "2", "3", "4"]
