package batch

var FNVLowBit = fnvLowBit
