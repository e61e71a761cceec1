# An optional Nix development shell: `nix develop`, then `make test` / `make run`.
# UNTESTED on the machines it was written on (Nix and its binary cache cannot be reached there).
# Nix provides the interpreter and the system tools; the Python packages still come from
# requirements/lock.txt through `make` (pinned, hashes checked), like everywhere else.
{
  description = "avin: a trading robot for MOEX shares with a terminal UI (development shell)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in {
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.python311
            pkgs.gnumake
            pkgs.git
            pkgs.tmux
            pkgs.postgresql
            pkgs.stdenv.cc.cc.lib # libstdc++ for the manylinux wheels (polars, grpcio, numpy)
            pkgs.zlib
          ];
          shellHook = ''
            export PYTHON=${pkgs.python311}/bin/python3.11
            export LD_LIBRARY_PATH=${pkgs.lib.makeLibraryPath [ pkgs.stdenv.cc.cc.lib pkgs.zlib ]}''${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
            echo "avin dev shell: make run | make test | make lint"
          '';
        };
      });
    };
}
