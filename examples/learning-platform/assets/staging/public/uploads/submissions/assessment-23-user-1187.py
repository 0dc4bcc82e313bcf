#!/usr/bin/env python3
"""Assessment 23, exercise 4: the first n primes."""


def primes(n):
    found = []
    k = 2
    while len(found) < n:
        if all(k % p for p in found):
            found.append(k)
        k += 1
    return found


print(primes(10))
