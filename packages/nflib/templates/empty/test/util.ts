// Test helpers in one place: the published ones of @gnet/nflib/testing.
export { arpFrame, framesAt, readPcap, runGnet, udpFrame, writePcap, type Frame } from '@gnet/nflib/testing';
