# Build Hearth for Windows: the one-folder bundle, its self-test, and the installer.
#
#   powershell -File packaging\windows\build.ps1 -Variant cpu     # or -Variant cuda
#
# llama-cpp-python is built portable by packaging/llama_wheel.py, once, into
# ~\.cache\hearth-build\ (or $env:HEARTH_BUILD_CACHE): GGML_NATIVE=OFF, GGML_BACKEND_DL
# and GGML_CPU_ALL_VARIANTS give ggml-cpu-sse42.dll ... ggml-cpu-icelake.dll, of which
# app/core/inference/backends.py loads the best this CPU runs. It is installed with the
# project in build\bundle-venv (packaging/bundle_venv.py), which runs PyInstaller; the
# dev venv is left as it is. -Variant cuda adds -DGGML_CUDA=on (needs the CUDA
# toolkit): ggml-cuda.dll is then one more loadable backend. The self-test names the
# build it finds (CPU or CUDA), so a CUDA installer that quietly holds a CPU build
# fails here.
# Output: dist\Hearth\ and dist\Hearth-VERSION-windows-VARIANT-setup.exe (Inno Setup 6,
# iscc on PATH or in its default folder). Signed by sign.ps1 when a certificate is set.
param(
    [ValidateSet("cpu", "cuda")][string]$Variant = "cpu",
    [string]$Python = ".venv\Scripts\python.exe",
    [string]$Model = $(if ($env:HEARTH_TEST_MODEL) { $env:HEARTH_TEST_MODEL } else { "..\shared\models\stories260K.gguf" })
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed ($LASTEXITCODE)" }
}

$Version = & $Python -c "import app; print(app.__version__)"
$Extra = if ($Variant -eq "cuda") { "-DGGML_CUDA=on" } else { "-DGGML_CUDA=off" }
$BundlePython = & $Python packaging\bundle_venv.py "--add-cmake-args=$Extra"
if ($LASTEXITCODE -ne 0) { throw "the bundle venv could not be made ($LASTEXITCODE)" }
$Python = ($BundlePython | Select-Object -Last 1).Trim()

Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build\pyinstaller", "packaging\hearth.spec")

# hearth-cli.exe is the console twin of Hearth.exe: its output can be read here.
$Report = & dist\Hearth\hearth-cli.exe --self-test --model $Model
$Report | Write-Output
if ($LASTEXITCODE -ne 0) { throw "the bundle's self-test failed" }
$Expected = if ($Variant -eq "cuda") { "CUDA build" } else { "CPU build" }
if (-not ($Report -match $Expected)) { throw "the bundle is not a $Expected" }

& (Join-Path $PSScriptRoot "sign.ps1") -Path dist\Hearth\Hearth.exe, dist\Hearth\hearth-cli.exe

$Iscc = (Get-Command iscc -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
Invoke-Checked $Iscc @("/DAppVersion=$Version", "/DVariant=$Variant", "packaging\windows\hearth.iss")
$Setup = "dist\Hearth-$Version-windows-$Variant-setup.exe"
& (Join-Path $PSScriptRoot "sign.ps1") -Path $Setup
Write-Output "installer: $Setup"
