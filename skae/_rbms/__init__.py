"""Restricted Boltzmann machines: BernoulliRBM and GaussianBernoulliRBM."""
