package main

import "golang.org/x/sys/unix"

const termiosRead = unix.TCGETS
