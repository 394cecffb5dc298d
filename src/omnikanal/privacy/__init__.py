"""Data-subject rights: access/portability exports, erasure, restriction, rectification; retention."""
