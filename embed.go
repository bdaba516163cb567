package main

import "embed"

// staticFiles is the static/ tree compiled into the binary: CSS, images and
// the little JavaScript kelas allows. Nothing is loaded from elsewhere.
//
//go:embed static
var staticFiles embed.FS
