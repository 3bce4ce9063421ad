"""Tests of the lab's services: plain HTTP proves each flaw is real and each twin refuses it."""
