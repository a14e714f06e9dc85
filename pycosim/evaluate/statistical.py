"""The published statistical PCM model (Rasch et al., Nat. Commun. 14, 5282 (2023)) — moved to
:mod:`pycosim.inference.pcm_statistical`; this name stays for existing imports."""

from pycosim.inference.pcm_statistical import (G_MAX_US, PROG_COEFF_US, T0_S, T_READ_S, ProgrammedLayer,  # noqa: F401
                                               drift_factor, drift_nu_mean, drift_nu_std, prog_sigma_us, program,
                                               read_noise_q, read_noise_rel, to_conductances, weights_at)
