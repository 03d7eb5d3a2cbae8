package manifest

// entryFor, for the external tests.
var EntryFor = entryFor
