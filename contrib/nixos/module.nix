# module.nix: a NixOS module for this C PDS, the counterpart of the
# reference's services.bluesky-pds (see the NixOS seed guide): the same
# PDS_* settings and secret environment files, plus the home-hosting
# helpers as systemd timers: pds-ddns (every 5 minutes), pds-backup
# (hourly) and pds-maintain (daily).  Import it and set, e.g.:
#
#   imports = [ /path/to/repo/contrib/nixos/module.nix ];
#   services.pds-c = {
#     enable = true;
#     package = pkgs.callPackage /path/to/repo/contrib/nixos/package.nix { };
#     environmentFiles = [ config.sops.secrets.pds.path ];  # PDS_JWT_SECRET ...
#     settings = {
#       PDS_HOSTNAME = "example.com";
#       PDS_ADMIN_EMAIL = "me@example.com";
#       PDS_SEQ_RETENTION_DAYS = 30;
#     };
#     ddns = { enable = true; environmentFiles = [ config.sops.secrets.ddns.path ]; };
#     backup = { enable = true; remotes = [ "b2:my-bucket/pds" ]; };
#   };
#
# The web server: proxy the hostname and every subdomain to the FastCGI
# socket with the shipped location rules (conf/nginx/pds-locations.conf,
# conf/caddy/Caddyfile); the socket is group-writable for `socketGroup`.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.pds-c;
  inherit (lib) mkDefault mkEnableOption mkIf mkMerge mkOption types;

  settingValue = v: if builtins.isBool v then (if v then "true" else "false") else toString v;
  envFile = pkgs.writeText "pds.env" (lib.concatStringsSep "\n"
    (lib.mapAttrsToList (k: v: "${k}=${settingValue v}")
      (lib.filterAttrs (_: v: v != null) cfg.settings)) + "\n");

  sbin = name: "${cfg.package}/sbin/${name}";

  # systemd.exec(5) sandbox shared by every unit.
  hardening = {
    User = cfg.user;
    Group = cfg.group;
    UMask = "0027";
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ReadWritePaths = [ cfg.dataDir ];
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectProc = "invisible";
    ProcSubset = "pid";
    RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" "~@privileged" ];
    CapabilityBoundingSet = "";
    EnvironmentFile = cfg.environmentFiles;
  };

  oneshot = { description, exec, env ? [ ], extra ? { } }: {
    inherit description;
    after = [ "network-online.target" ];
    wants = [ "network-online.target" ];
    serviceConfig = hardening // {
      Type = "oneshot";
      ExecStart = exec;
      EnvironmentFile = cfg.environmentFiles ++ env;
      Nice = 10;
      IOSchedulingClass = "idle";
    } // extra;
  };

  timer = description: timerConfig: {
    inherit description;
    wantedBy = [ "timers.target" ];
    inherit timerConfig;
  };
in
{
  options.services.pds-c = {
    enable = mkEnableOption "the C AT Protocol PDS (pds-fcgi and pds-firehose)";

    package = mkOption {
      type = types.package;
      description = "The PDS build, e.g. pkgs.callPackage ./package.nix { }.";
    };

    user = mkOption { type = types.str; default = "pds"; description = "User the PDS runs as."; };
    group = mkOption { type = types.str; default = "pds"; description = "Its group."; };

    dataDir = mkOption {
      type = types.path;
      default = "/var/lib/pds";
      description = "PDS_DATA_DIRECTORY: databases, actor stores, blobs (blocks/).";
    };

    socketGroup = mkOption {
      type = types.str;
      default = config.services.nginx.group or "nginx";
      defaultText = lib.literalExpression "config.services.nginx.group";
      description = "Group allowed to connect to the FastCGI socket (the web server's).";
    };

    settings = mkOption {
      type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.int types.bool ]));
      default = { };
      example = { PDS_HOSTNAME = "example.com"; PDS_INVITE_REQUIRED = true; };
      description = ''
        PDS_* settings (the reference's names; conf/pds.env.example), written
        to a pds.env in the Nix store: never put secrets here, use
        environmentFiles.
      '';
    };

    environmentFiles = mkOption {
      type = types.listOf types.path;
      default = [ ];
      description = "Files of KEY=value secrets (PDS_JWT_SECRET, PDS_ADMIN_PASSWORD, ...), agenix/sops-nix.";
    };

    ddns = {
      enable = mkEnableOption "pds-ddns, dynamic DNS for PDS_HOSTNAME and *.PDS_HOSTNAME";
      interval = mkOption { type = types.str; default = "5min"; description = "Time between runs."; };
      environmentFiles = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (Route53) or CLOUDFLARE_API_TOKEN.";
      };
      extraArgs = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "--provider" "cloudflare" "--ipv6" ];
        description = "More pds-ddns flags (cron/README.md).";
      };
    };

    backup = {
      enable = mkEnableOption "pds-backup, consistent hourly snapshots copied with rclone";
      directory = mkOption {
        type = types.path;
        default = "/var/backup/pds";
        description = "PDS_BACKUP_DIRECTORY: snapshots and the shared blob area.";
      };
      remotes = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "b2:my-bucket/pds" "/mnt/usb/pds" ];
        description = "rclone remotes (NAME:path) copied to after each snapshot.";
      };
      keepHourly = mkOption { type = types.ints.unsigned; default = 24; description = "Hourly snapshots kept."; };
      keepDaily = mkOption { type = types.ints.unsigned; default = 7; description = "Daily snapshots kept."; };
      calendar = mkOption { type = types.str; default = "hourly"; description = "systemd OnCalendar."; };
      environmentFiles = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "RCLONE_CONFIG_<NAME>_* credentials of the remotes.";
      };
    };

    maintain = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run pds-maintain daily (sequencer retention, orphaned blobs, WAL checkpoints).";
      };
      calendar = mkOption { type = types.str; default = "*-*-* 03:43:00"; description = "systemd OnCalendar."; };
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      services.pds-c.settings = {
        PDS_DATA_DIRECTORY = mkDefault cfg.dataDir;
        PDS_BLOBSTORE_DISK_LOCATION = mkDefault "${cfg.dataDir}/blocks";
        PDS_FCGI_LISTEN = mkDefault "unix:/run/pds/fcgi.sock";
        PDS_FCGI_SOCKET_MODE = mkDefault "0660";
        PDS_FIREHOSE_LISTEN = mkDefault "127.0.0.1:2584";
      };

      users.users = mkIf (cfg.user == "pds") {
        pds = { isSystemUser = true; group = cfg.group; home = cfg.dataDir; };
      };
      users.groups = mkIf (cfg.group == "pds") { pds = { }; };

      systemd.tmpfiles.rules = [
        "d ${cfg.dataDir} 0750 ${cfg.user} ${cfg.group} -"
        "d ${cfg.dataDir}/blocks 0750 ${cfg.user} ${cfg.group} -"
      ];

      systemd.services.pds-fcgi = {
        description = "AT Protocol PDS (FastCGI workers)";
        wantedBy = [ "multi-user.target" ];
        after = [ "network-online.target" ];
        wants = [ "network-online.target" ];
        serviceConfig = hardening // {
          ExecStart = "${sbin "pds-fcgi"} --env-file ${envFile}";
          ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
          RuntimeDirectory = "pds";
          RuntimeDirectoryMode = "0750";
          SupplementaryGroups = [ cfg.socketGroup ];
          Restart = "on-failure";
          KillMode = "mixed";
          MemoryDenyWriteExecute = true;
        };
      };

      systemd.services.pds-firehose = {
        description = "AT Protocol PDS firehose (subscribeRepos)";
        wantedBy = [ "multi-user.target" ];
        after = [ "pds-fcgi.service" ];
        serviceConfig = hardening // {
          ExecStart = "${sbin "pds-firehose"} --env-file ${envFile}";
          Restart = "on-failure";
          MemoryDenyWriteExecute = true;
        };
      };
    }

    (mkIf cfg.ddns.enable {
      systemd.services.pds-ddns = oneshot {
        description = "AT Protocol PDS dynamic DNS update";
        exec = lib.escapeShellArgs ([ (sbin "pds-ddns") "--env-file" "${envFile}" ] ++ cfg.ddns.extraArgs);
        env = cfg.ddns.environmentFiles;
        extra = { MemoryDenyWriteExecute = true; TimeoutStartSec = "120"; };
      };
      systemd.timers.pds-ddns = timer "pds-ddns every ${cfg.ddns.interval}" {
        OnBootSec = "1min";
        OnUnitActiveSec = cfg.ddns.interval;
        RandomizedDelaySec = "20s";
      };
    })

    (mkIf cfg.backup.enable {
      services.pds-c.settings = {
        PDS_BACKUP_DIRECTORY = mkDefault cfg.backup.directory;
        PDS_BACKUP_REMOTES = mkDefault (lib.concatStringsSep "," cfg.backup.remotes);
        PDS_BACKUP_KEEP_HOURLY = mkDefault cfg.backup.keepHourly;
        PDS_BACKUP_KEEP_DAILY = mkDefault cfg.backup.keepDaily;
      };
      systemd.tmpfiles.rules = [ "d ${cfg.backup.directory} 0700 ${cfg.user} ${cfg.group} -" ];
      systemd.services.pds-backup = (oneshot {
        description = "AT Protocol PDS backup (snapshot, retention, rclone)";
        exec = "${sbin "pds-backup"} --env-file ${envFile}";
        env = cfg.backup.environmentFiles;
        extra = {
          ReadWritePaths = [ cfg.dataDir cfg.backup.directory ];
          UMask = "0077";
          TimeoutStartSec = "3h";
        };
      }) // { path = [ pkgs.rclone ]; };
      systemd.timers.pds-backup = timer "pds-backup ${cfg.backup.calendar}" {
        OnCalendar = cfg.backup.calendar;
        RandomizedDelaySec = "5min";
        Persistent = true;
      };
    })

    (mkIf cfg.maintain.enable {
      systemd.services.pds-maintain = oneshot {
        description = "AT Protocol PDS maintenance";
        exec = "${sbin "pds-maintain"} --env-file ${envFile}";
        extra = {
          MemoryDenyWriteExecute = true;
          PrivateNetwork = true;
          RestrictAddressFamilies = [ "AF_UNIX" ];
          TimeoutStartSec = "1h";
        };
      };
      systemd.timers.pds-maintain = timer "pds-maintain daily" {
        OnCalendar = cfg.maintain.calendar;
        RandomizedDelaySec = "30min";
        Persistent = true;
      };
    })
  ]);
}
