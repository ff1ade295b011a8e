"""The fast update path with sliced retrains serves the committee itself, never its fallback.

While a retrain advances on a copy (``refit_slice``), the served members are only
conditioned: they report no loss, yet the copy's Adam steps count as iterations. Such
a decision must not be refused as a failed fit (it fell back to PCA-GP before).
"""

import numpy as np
from scipy.ndimage import gaussian_filter

from autoscope.recommender import DKLRecommender

SLICED = {"refit_every": 3, "refit_slice": 2, "n_iter": 8, "warm_iter": 4, "reinit_every": 0}
MODEL = {
    "name": "committee",
    "params": {
        "members": [
            {"name": "spatial_dkl", "params": SLICED},
            {"name": "gp_coords", "params": {"refit_every": 3, "refit_slice": 2}},
        ]
    },
}


def test_decisions_during_a_sliced_retrain_are_the_committees():
    rng = np.random.default_rng(0)
    image = gaussian_filter(rng.normal(size=(24, 24)), 1.5)
    rec = DKLRecommender(image, 8, "ei", seed=0, model=MODEL)
    truth = image[4:-3, 4:-3].ravel()  # the patch centres' pixel values, one per candidate
    seeds = rng.choice(len(rec.candidates), 6, replace=False)
    rec.ingest([{"_id": int(i), "value": float(truth[i])} for i in seeds])
    records = []
    for _ in range(10):
        (pt,) = rec.suggest(1)
        records.append(dict(rec.last_decision))
        rec.ingest([{"_id": pt["_id"], "value": float(truth[pt["_id"]])}])
    sliced = [d for d in records if d["update"] == "condition" and d["iterations"] > 0]
    assert sliced, [(d["update"], d["iterations"]) for d in records]  # a retrain ran in slices
    assert any("promote" in d["update"] for d in records)  # and was swapped in
    assert all(d["fit_failures"] == [] for d in records)
    assert all(d["phase"] == "model" for d in records)


def test_the_fast_committee_preset_is_the_default_committee_retrained_in_the_background():
    from autoscope.models import FAST_COMMITTEE, from_spec, get

    fast, default = from_spec(FAST_COMMITTEE), get("committee")
    assert [m.name for m in fast.models] == [m.name for m in default.models]
    for member, plain in zip(fast.models, default.models, strict=True):
        params, plain_params = member.spec["params"], plain.spec["params"]
        assert params["refit_every"] == 5 and params["refit_lag"] == 2
        assert params["refit_slice"] == 0
        assert {k: v for k, v in params.items() if k not in ("refit_every", "refit_lag")} == {
            k: v for k, v in plain_params.items() if k != "refit_every"
        }
    assert all(m.spec["params"]["refit_every"] == 1 for m in default.models)
