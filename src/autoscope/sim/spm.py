r"""A simulated SPM ferroelectric sample: PFM images of a/c domains, loops or V_AC sweeps.

The latent structure is a relaxed phase-field domain pattern of a tetragonal
ferroelectric film (:mod:`autoscope.sim._domains`): c+/c- domains separated by
**180° walls** and a-domain lenses bounded by **90° (ferroelastic) walls**. The
structural image has three channels, amplitude and phase of vertical
piezoresponse force microscopy (PFM) and topography. At every pixel the
spectrum is either a piezoresponse hysteresis loop over a triangular DC bias
waveform (like band-excitation PFM spectroscopy, BEPS) computed from the
Landau-Khalatnikov equation, or the response to a sweep of the AC drive
amplitude :math:`y = Ax^3 + Bx^2 + Cx`. The loop's coercive field, remanence and
imprint, and :math:`A, B, C`, are explicit functions of the distance to and the
kind of the nearest wall (:class:`SPMParams`): loops open widest at 180° walls,
as seen by Vasudevan et al. in PbTiO3 (large polarisation mobility of 180°
walls), so the loop-area map has a small region of extreme values there.

References
----------
R. K. Vasudevan, K. Kelley, H. Funakubo, S. Jesse, S. V. Kalinin, M. Ziatdinov,
ACS Nano 15, 11253 (2021), doi:10.1021/acsnano.0c10239.

Examples
--------
>>> from autoscope.sim.spm import SPMSample
>>> s = SPMSample(shape=(32, 32), seed=1)
>>> s.image.shape, s.channels, s.spectrum(3, 4).shape
((32, 32, 3), ('amplitude', 'phase', 'topography'), (64,))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.sim import _domains as dom
from autoscope.sim._lattice import check_param_fields
from autoscope.sim._loops import landau_khalatnikov_loops, triangle_bias
from autoscope.sim.base import BaseSample, check_shape

__all__ = ["SPECTROSCOPIES", "SPMParams", "SPMSample", "landau_khalatnikov_loops", "triangle_bias"]

SPECTROSCOPIES = ("loop", "ac_sweep")
_POS = {"gt": 0.0}
_NONNEG = {"min": 0.0}
_FRAC = {"min": 0.0, "max": 1.0}
_REL = {"gt": -1.0}


@dataclass(frozen=True)
class SPMParams:
    r"""Physics parameters of :class:`SPMSample`.

    With :math:`d` the distance (px) to the nearest wall and
    :math:`g_k = e^{-d^2/2w^2}\,[\text{nearest wall is of kind } k]` for
    :math:`k \in \{180, 90\}`, :math:`\delta_a = 1` in a domains (else 0) and a
    wall mobility :math:`\mu = 1 + s\,\mathrm{clip}(\zeta, -2, 2)` (:math:`\zeta`
    a smooth unit Gaussian field, correlation length ``domain_size / 2``):

    .. math::
        E_c = E_{c0}\,[1 + (k_a - 1)\delta_a]\,(1 + e_{180}\,\mu\, g_{180} + e_{90}\, g_{90}),

        R = R_0\,[1 + (r_a - 1)\delta_a]\,(1 + r_{180}\,\mu\, g_{180} + r_{90}\, g_{90}),
        \qquad E_{imp} = E_{imp,0} + E_{imp,90}\, g_{90}.

    The loop is :math:`y = P` with :math:`\dot P = -\Gamma\,\partial F/\partial P`,
    :math:`F = \alpha P^2/2 + \beta P^4/4 - (V - E_{imp}) P`,
    :math:`\alpha = -\tfrac{3\sqrt3}{2} E_c / R`, :math:`\beta = -\alpha / R^2`, so that
    the static coercive biases are :math:`E_{imp} \pm E_c` and the remanent
    response is :math:`\pm R` (:func:`landau_khalatnikov_loops`). The AC sweep
    coefficients are

    .. math::
        C = c_0\,[1 + (r_a - 1)\delta_a]\,(1 - \tfrac12 g_{180} - \tfrac12 g_{90}),\quad
        B = b_0\,(0.1 + \mu\, g_{180} + 0.3\, g_{90}),\quad
        A = -a_0\,[1 + (r_a - 1)\delta_a]\,(1 + 2 g_{90})

    (linear reversible piezoresponse; Rayleigh-type irreversible wall motion,
    largest at mobile 180° walls; clamping / saturation, largest at 90° walls).

    Attributes
    ----------
    pixel_size : float
        Scan step, nm (metadata only; all lengths below are in px).
    domain_size : float
        Correlation length of the c+/c- domain pattern, px.
    a_fraction, up_fraction : float
        Seeded area fraction of a domains; fraction of the c area that is c+.
    gamma : float
        Biquadratic Landau coupling of the phase field (> 3).
    pf_steps : int
        Phase-field relaxation steps.
    wall_width : float
        :math:`w`: reach of the wall effects on the spectra, px.
    mobility_spread : float
        :math:`s`: relative spread of the 180° wall mobility (< 0.5).
    n_points : int
        Spectrum length L (a multiple of 4 for the loop waveform).
    v_max : float
        Amplitude of the triangular DC waveform, V.
    coercive, coercive_180, coercive_90, coercive_a : float
        :math:`E_{c0}` (V), :math:`e_{180}`, :math:`e_{90}`, :math:`k_a`.
    response, response_180, response_90, response_a : float
        :math:`R_0` (a.u.), :math:`r_{180}`, :math:`r_{90}`, :math:`r_a`.
    imprint, imprint_90 : float
        :math:`E_{imp,0}`, :math:`E_{imp,90}`, V.
    relax_steps : int
        Backward-Euler Landau-Khalatnikov steps per bias step (the hold time of a
        bias step in units of the relaxation time :math:`1/\Gamma|\alpha|`).
    vac_max : float
        Largest AC drive amplitude of the sweep, V.
    linear, rayleigh, cubic : float
        :math:`c_0` (a.u./V), :math:`b_0` (a.u./V²), :math:`a_0` (a.u./V³).
    noise : float
        Standard deviation of the Gaussian noise of measured spectra, a.u.
    image_noise : float
        Standard deviation of the image noise (amplitude a.u.; topography in
        units of ``step_height``; the phase follows from a noisy complex response).
    step_height : float
        Depth of a domains below c domains in the topography, nm.
    n_features : int
        Number of surface particles in the topography.
    feature_height : float
        Largest surface-particle height, nm.
    """

    pixel_size: float = field(default=4.0, metadata=_POS)
    domain_size: float = field(default=24.0, metadata={"min": 2.0})
    a_fraction: float = field(default=0.3, metadata={"min": 0.0, "max": 0.9})
    up_fraction: float = field(default=0.5, metadata=_FRAC)
    gamma: float = field(default=6.0, metadata={"gt": 3.0})
    pf_steps: int = field(default=40, metadata={"min": 0, "int": True})
    wall_width: float = field(default=1.5, metadata=_POS)
    mobility_spread: float = field(default=0.3, metadata={"min": 0.0, "max": 0.49})
    n_points: int = field(default=64, metadata={"min": 8, "int": True})
    v_max: float = field(default=8.5, metadata=_POS)
    coercive: float = field(default=2.5, metadata=_POS)
    coercive_180: float = field(default=0.5, metadata=_REL)
    coercive_90: float = field(default=-0.2, metadata=_REL)
    coercive_a: float = field(default=1.4, metadata=_POS)
    response: float = field(default=1.0, metadata=_POS)
    response_180: float = field(default=0.5, metadata=_REL)
    response_90: float = field(default=-0.3, metadata=_REL)
    response_a: float = field(default=0.4, metadata=_POS)
    imprint: float = 0.2
    imprint_90: float = 0.6
    relax_steps: int = field(default=16, metadata={"min": 1, "int": True})
    vac_max: float = field(default=2.0, metadata=_POS)
    linear: float = 1.0
    rayleigh: float = 0.4
    cubic: float = 0.02
    noise: float = field(default=0.05, metadata=_NONNEG)
    image_noise: float = field(default=0.02, metadata=_NONNEG)
    step_height: float = field(default=0.4, metadata=_NONNEG)
    n_features: int = field(default=4, metadata={"min": 0, "int": True})
    feature_height: float = field(default=2.0, metadata=_NONNEG)


class SPMSample(BaseSample):
    r"""A ferroelectric film under a PFM tip: a/c domains, loops or AC sweeps.

    Image channels (H, W, 3), with :math:`\mathbf P = (P_1, P_2)` the relaxed
    polarisation (out of plane, in plane), :math:`G_\sigma` a Gaussian tip blur
    (:math:`\sigma` = 1 px), :math:`W_{90} = e^{-d^2/2}[\text{90° wall}]` and
    :math:`n` unit Gaussian noise scaled by ``image_noise``:

    - ``amplitude`` (a.u.): :math:`G_1[\sqrt{P_1^2 + (0.3 P_2)^2}\,(1 - 0.4 W_{90})] + n`
      (vertical response, weak lateral cross-talk in a domains; dips at both wall kinds);
    - ``phase`` (deg): :math:`\arg(G_1 P_1 + n + i(0.1 + n))`: about 6° in c+, 174° in
      c-, 90° in a domains (a small quadrature background sets the phase where
      the vertical response vanishes);
    - ``topography`` (nm): :math:`-h\,G_{1.5}[P_2^2/|\mathbf P|^2]` + a few Gaussian
      surface particles + :math:`h\,n`.

    Spectra: ``spectroscopy="loop"``: axis = :func:`triangle_bias` (V),
    spectrum = :func:`landau_khalatnikov_loops` with the maps of
    :class:`SPMParams`; ``spectroscopy="ac_sweep"``: axis = AC drive amplitude
    :math:`x` from 0 to ``vac_max`` (V), spectrum :math:`Ax^3 + Bx^2 + Cx`.
    Measured spectra add Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    shape : (int, int)
        Grid ``(H, W)``, px.
    seed : int or None
        Seed of the domain pattern, wall mobility, surface particles and image noise.
    spectroscopy : {"loop", "ac_sweep"}
    **params
        Fields of :class:`SPMParams`.

    Attributes
    ----------
    physics : SPMParams
    polarization : ndarray, shape (2, H, W)
    variant : ndarray of int8, shape (H, W)
        0 c+, 1 c-, 2 a+, 3 a-.
    wall_distance : ndarray, shape (H, W)
        :math:`d`, px (:func:`autoscope.sim._domains.wall_maps`).
    wall_kind : ndarray of int16, shape (H, W)
        Kind of the nearest wall, 180 or 90.
    mobility : ndarray, shape (H, W)
        :math:`\mu`.
    coercive_field, imprint, remanence : ndarray, shape (H, W)
        :math:`E_c` (V), :math:`E_{imp}` (V), :math:`R` (a.u.); the loop crosses
        zero at :math:`E_{imp} + E_c` going up and :math:`E_{imp} - E_c` going down.
    coefficients : dict of str to ndarray, shape (H, W)
        ``"A"``, ``"B"``, ``"C"`` of the AC sweep.
    channel_units : tuple of str
        Units of the three image channels.

    Raises
    ------
    InputDataError
        Bad shape, seed, spectroscopy or parameter, or parameters for which the
        loops would not switch within the waveform.
    """

    kind = "spm"
    channels = ("amplitude", "phase", "topography")
    channel_units = ("a.u.", "deg", "nm")
    image_units = "a.u., deg, nm"
    pixel_units = "nm"
    spectrum_units = "a.u."
    axis_units = "V"

    def __init__(
        self,
        shape: tuple[int, int] = (128, 128),
        seed: int | None = 0,
        spectroscopy: str = "loop",
        **params: Any,
    ):
        h, w = check_shape(shape)
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise InputDataError(f"seed must be a non-negative integer or None, got {seed!r}")
        if spectroscopy not in SPECTROSCOPIES:
            raise InputDataError(
                f"spectroscopy must be one of {SPECTROSCOPIES}, got {spectroscopy!r}"
            )
        names = [f.name for f in dataclasses.fields(SPMParams)]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise InputDataError(f"unknown SPM parameter(s) {unknown}; expected some of {names}")
        p = SPMParams(**params)
        check_param_fields(p)
        self.physics = p
        self.seed = None if seed is None else int(seed)
        self.spectroscopy = spectroscopy
        self.pixel_size = float(p.pixel_size)
        if spectroscopy == "loop":
            self.axis = triangle_bias(p.n_points, p.v_max)
            self.axis_name = "DC bias"
            self.default_scalarizer = {"name": "loop_area", "params": {}}
        else:
            self.axis = np.linspace(0.0, p.vac_max, int(p.n_points))
            self.axis_name = "AC drive amplitude"
            self.default_scalarizer = {"name": "poly3", "params": {"coefficient": "B"}}

        self.polarization, self.variant, self.wall_distance, self.wall_kind = dom.domain_structure(
            (h, w),
            self.seed,
            domain_size=p.domain_size,
            a_fraction=p.a_fraction,
            up_fraction=p.up_fraction,
            gamma=p.gamma,
            steps=p.pf_steps,
        )
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)[1:]]
        rng_mob, rng_img, rng_top = streams
        zeta = dom.smooth_noise(rng_mob, (h, w), p.domain_size / 2.0)
        self.mobility = 1.0 + p.mobility_spread * np.clip(zeta, -2.0, 2.0)
        self._set_parameter_maps()
        self.image = dom.pfm_image(
            self.polarization,
            self.wall_distance,
            self.wall_kind,
            rng_img,
            rng_top,
            image_noise=p.image_noise,
            step_height=p.step_height,
            n_features=p.n_features,
            feature_height=p.feature_height,
        )
        for arr in (self.mobility, self.coercive_field, self.imprint, self.remanence, self.image):
            arr.setflags(write=False)

    # -- latent physics ---------------------------------------------------------------
    def _set_parameter_maps(self) -> None:
        p = self.physics
        d2 = self.wall_distance**2
        g = np.exp(-d2 / (2.0 * p.wall_width**2))
        g180 = np.where(self.wall_kind == dom.KIND_180, g, 0.0)
        g90 = np.where(self.wall_kind == dom.KIND_90, g, 0.0)
        a_dom = self.variant >= dom.A_PLUS
        mu = self.mobility
        r_dom = np.where(a_dom, p.response_a, 1.0)
        self.coercive_field = (
            p.coercive
            * np.where(a_dom, p.coercive_a, 1.0)
            * (1.0 + p.coercive_180 * mu * g180 + p.coercive_90 * g90)
        )
        self.remanence = (
            p.response * r_dom * (1.0 + p.response_180 * mu * g180 + p.response_90 * g90)
        )
        self.imprint = p.imprint + p.imprint_90 * g90
        self.coefficients = {
            "A": -p.cubic * r_dom * (1.0 + 2.0 * g90),
            "B": p.rayleigh * (0.1 + mu * g180 + 0.3 * g90),
            "C": p.linear * r_dom * (1.0 - 0.5 * g180 - 0.5 * g90),
        }
        for arr in self.coefficients.values():
            arr.setflags(write=False)
        if not (np.all(self.coercive_field > 0) and np.all(self.remanence > 0)):
            raise InputDataError(
                "coercive_180/coercive_90/response_180/response_90 make the coercive field or "
                "remanence non-positive at some pixel; use relative changes > -1/(1 + 2 s)"
            )
        if self.spectroscopy != "loop":
            return
        step = 4.0 * p.v_max / p.n_points
        reach = float(np.max(self.coercive_field + np.abs(self.imprint)))
        if reach > p.v_max - 2.0 * step:
            raise InputDataError(
                f"loops would not switch within the waveform: max(coercive field + |imprint|) = "
                f"{reach:.3g} V but v_max - 2 bias steps = {p.v_max - 2 * step:.3g} V; "
                "raise v_max or lower coercive/coercive_180/coercive_a/imprint"
            )

    def latent(self) -> dict[str, np.ndarray]:
        """All latent (ground-truth) maps by name, each (H, W)."""
        out = {
            "variant": self.variant,
            "wall_distance": self.wall_distance,
            "wall_kind": self.wall_kind,
            "mobility": self.mobility,
            "coercive_field": self.coercive_field,
            "imprint": self.imprint,
            "remanence": self.remanence,
        }
        out.update({f"coefficient_{k}": v for k, v in self.coefficients.items()})
        return out

    # -- BaseSample -------------------------------------------------------------------
    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
        if self.spectroscopy == "loop":
            return landau_khalatnikov_loops(
                self.axis,
                self.coercive_field[rows, cols],
                self.imprint[rows, cols],
                self.remanence[rows, cols],
                self.physics.relax_steps,
            )
        x = self.axis[None, :]
        a, b, c = (self.coefficients[k][rows, cols][:, None] for k in "ABC")
        return a * x**3 + b * x**2 + c * x

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return spectrum + self.physics.noise * rng.standard_normal(spectrum.shape)

    def params(self) -> dict[str, Any]:
        """JSON parameters that, with ``kind``, ``shape`` and ``seed``, rebuild the sample."""
        return {"spectroscopy": self.spectroscopy, **dataclasses.asdict(self.physics)}
