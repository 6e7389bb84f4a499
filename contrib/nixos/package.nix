# package.nix: builds this C PDS from the repository (GNU make; the
# programs land in $out/sbin).  Use from a NixOS configuration:
#   services.pds-c.package = pkgs.callPackage /path/to/repo/contrib/nixos/package.nix { };
# The test suite needs Node and network-free fakes: run `make test` in a
# checkout rather than in the build sandbox.
{ lib, stdenv, pkg-config, sqlite, jansson, secp256k1, openssl, curl, fcgi }:

stdenv.mkDerivation {
  pname = "pds-c";
  version = "0.1.0";
  src = lib.cleanSource ../..;

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ sqlite jansson secp256k1 openssl curl fcgi ];

  makeFlags = [ "PREFIX=$(out)" ];
  enableParallelBuilding = true;
  doCheck = false;

  meta = {
    description = "AT Protocol Personal Data Server in C (FastCGI workers, firehose, cron helpers)";
    platforms = lib.platforms.linux;
    mainProgram = "pds-fcgi";
  };
}
