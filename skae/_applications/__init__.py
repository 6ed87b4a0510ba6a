"""What the models are used for: imputation, outlier detection and
recommendations."""
