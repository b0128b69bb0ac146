# R CMD check entry point: runs tests/testthat against the installed package.
library(testthat)
library(jobmonr)
test_check("jobmonr")
