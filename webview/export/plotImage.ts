/**
 * Images of the panel's plots without Plotly.downloadImage, which needs a download the webview
 * cannot do, and without Plotly's PNG path, which loads the SVG from a blob: URL that the
 * panel CSP (img-src data: only) refuses. SVG comes from Plotly.toImage (pure string
 * building) or from an <svg> element; PNG is that SVG drawn, from a data: URL, on a canvas.
 */
import Plotly from 'plotly.js-strict-dist-min';

export interface SvgImage {
  svg: string;
  width: number;
  height: number;
}

function background(): string {
  const style = getComputedStyle(document.body);
  return style.getPropertyValue('--vscode-editor-background').trim() || style.backgroundColor || '#1e1e1e';
}

/** An opaque background as the SVG's first child: the theme's, so the text stays readable. */
function withBackground(svg: string, fill: string): string {
  return svg.replace(/<svg\b[^>]*>/, (open) => `${open}<rect x="0" y="0" width="100%" height="100%" fill="${fill.replace(/"/g, '')}"/>`);
}

/** The SVG of a Plotly plot at its drawn size. */
export async function plotlySvg(gd: HTMLElement): Promise<SvgImage> {
  const fl = (gd as HTMLElement & { _fullLayout?: { width: number; height: number } })._fullLayout;
  const width = Math.round(fl?.width ?? gd.clientWidth);
  const height = Math.round(fl?.height ?? gd.clientHeight);
  let svg = await Plotly.toImage(gd, { format: 'svg', width, height, imageDataOnly: true });
  // Older Plotly builds answer a data URL even with imageDataOnly.
  if (svg.startsWith('data:')) svg = decodeURIComponent(svg.slice(svg.indexOf(',') + 1));
  return { svg: withBackground(svg, background()), width, height };
}

/** The SVG of an <svg> element (styled by attributes, so it stands alone). */
export function elementSvg(el: SVGSVGElement): SvgImage {
  const copy = el.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const width = Number(el.getAttribute('width')) || el.clientWidth;
  const height = Number(el.getAttribute('height')) || el.clientHeight;
  return { svg: withBackground(new XMLSerializer().serializeToString(copy), background()), width, height };
}

/** A data:image/png;base64 URL of the SVG rasterised at its own size (times `scale`). */
export function svgToPng(img: SvgImage, scale = 1): Promise<string> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(img.width * scale);
      canvas.height = Math.round(img.height * scale);
      const ctx = canvas.getContext('2d');
      if (!ctx) return reject(new Error('export: no 2D canvas'));
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      resolve(canvas.toDataURL('image/png'));
    };
    image.onerror = () => reject(new Error('export: the plot could not be rasterised'));
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(img.svg)}`;
  });
}
