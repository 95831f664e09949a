"""oks-pipeline: automatic private-pension enrolment (BES OKS) for Turkish employers."""
