; Inno Setup 6 script for Hearth's Windows installer (called by build.ps1):
;   iscc /DAppVersion=0.1.0 /DVariant=cpu packaging\windows\hearth.iss
; Installs dist\Hearth\ per user (no admin rights), with a Start-menu entry, an
; optional desktop icon and an uninstaller. Conversations, settings and models live
; in the user's AppData folders, so neither an upgrade nor the uninstaller touches them.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef Variant
  #define Variant "cpu"
#endif

[Setup]
AppId={{6F1C2E0A-4B7D-4E8A-9C3B-2D5E7A1F0B84}
AppName=Hearth
AppVersion={#AppVersion}
AppVerName=Hearth {#AppVersion} ({#Variant})
AppPublisher=The Hearth project
DefaultDirName={localappdata}\Programs\Hearth
DefaultGroupName=Hearth
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=Hearth-{#AppVersion}-windows-{#Variant}-setup
SetupIconFile=..\..\resources\icons\hearth.ico
UninstallDisplayIcon={app}\Hearth.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; An upgrade replaces the whole program folder, so no file of an older version lingers.
Source: "..\..\dist\Hearth\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\Hearth"; Filename: "{app}\Hearth.exe"
Name: "{group}\Uninstall Hearth"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Hearth"; Filename: "{app}\Hearth.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Hearth.exe"; Description: "{cm:LaunchProgram,Hearth}"; Flags: nowait postinstall skipifsilent
