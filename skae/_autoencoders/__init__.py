"""The autoencoders: the base class and its compiled training (base, lbfgs,
pca_start), the dense family (dense: AutoencoderTransformer, DenoisingAE,
SparseAE, ContractiveAE), stacked, variational, convolutional, and the MLPs that
StackedAE.to_mlp returns."""
