//! Number theory: arithmetic modulo word-size primes, prime generation and the negacyclic NTT.
