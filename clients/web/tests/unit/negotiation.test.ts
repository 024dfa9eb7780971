import { describe, expect, it } from 'vitest';
import { fingerprintOf, isPolite, Negotiation, withoutCandidates } from '../../src/lib/negotiation';

describe('perfect negotiation', () => {
  it('makes exactly one side of every pair polite', () => {
    expect(isPolite('bob~b', 'alice~a')).toBe(true);
    expect(isPolite('alice~a', 'bob~b')).toBe(false);
  });

  it('has the impolite side ignore an offer that collides with its own', () => {
    const impolite = new Negotiation(false);
    impolite.makingOffer = true;

    expect(impolite.accept('offer', 'stable')).toBe(false);
    expect(impolite.candidateErrorExpected()).toBe(true);
  });

  it('has the polite side take an offer that collides with its own', () => {
    const polite = new Negotiation(true);

    expect(polite.accept('offer', 'have-local-offer')).toBe(true);
    expect(polite.candidateErrorExpected()).toBe(false);
  });

  it('accepts an offer in the stable state on either side', () => {
    expect(new Negotiation(false).accept('offer', 'stable')).toBe(true);
    expect(new Negotiation(true).accept('offer', 'stable')).toBe(true);
  });

  it('does not count an offer as a collision while an answer is being applied', () => {
    const impolite = new Negotiation(false);
    impolite.applyingAnswer(true);

    expect(impolite.accept('offer', 'have-local-offer')).toBe(true);
  });

  it('always accepts an answer', () => {
    const impolite = new Negotiation(false);
    impolite.makingOffer = true;

    expect(impolite.accept('answer', 'have-local-offer')).toBe(true);
  });
});

describe('SDP helpers', () => {
  const sdp = ['v=0', 'a=fingerprint:sha-256 AB:CD', 'a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host', 'a=end-of-candidates', 'a=mid:0'].join(
    '\r\n',
  );

  it('reads the DTLS fingerprint that tells a new connection from a renegotiation', () => {
    expect(fingerprintOf(sdp)).toBe('sha-256 AB:CD');
    expect(fingerprintOf('v=0')).toBeUndefined();
  });

  it('removes every candidate line when peer-to-peer is blocked', () => {
    expect(withoutCandidates(sdp)).toBe(['v=0', 'a=fingerprint:sha-256 AB:CD', 'a=mid:0'].join('\r\n'));
  });
});
